"""Workers: claim Batches, build their messages, hand them to transports, record the results;
and the fault hook that the reliability tests use to kill a worker at a named point."""
