"""Monthly billing statements (請求明細): pages, PDF and CSV downloads."""
