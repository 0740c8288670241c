"""Registration, initial passwords, password reset and the sign-in authentication code."""
