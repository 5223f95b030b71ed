"""`python -m newsletter.testing`: the SendGrid simulator in a process of its own (see
`newsletter.testing.sendgrid_sim.main`)."""

from newsletter.testing.sendgrid_sim import main

main()
