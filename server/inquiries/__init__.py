"""Inquiries (連絡・お問い合わせ) and staff replies."""
