"""The send ledger: freeze a Send (content and audience), cut Batches, claim them
(`pending -> submitting`, committed before any I/O), record each result, and steer a Send
(pause, resume, cancel, retry failed, resend uncertain)."""
