"""Staff console: uploading core-system CSV files, their dry run, apply and history."""
