"""The access log (アクセスログ): who did what, when."""
