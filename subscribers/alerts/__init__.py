"""Who a brief concerns (matching, reasons) and the email that tells them: immediate alerts,
and the notices that follow a brief taken back."""
