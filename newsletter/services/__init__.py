"""The application layer: every action a person can take, whoever asks (terminal, browser,
scheduler). One module per domain; each function takes the core object and the actor, checks
permission, does its steps in one transaction where it can, writes one audit entry, and raises
typed errors (NotFound, Conflict, Invalid, Forbidden) in the product's words."""
