"""The staff console's members screen: find a member, help them by phone, record withdrawals."""
