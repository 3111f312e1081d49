"""JSM → store: the inbox drain, the one upsert, history, comment visibility, echoes, reconcile, attachments."""
