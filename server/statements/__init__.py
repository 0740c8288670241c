"""Monthly billing statements (ご請求明細): pages, PDF and CSV downloads."""
