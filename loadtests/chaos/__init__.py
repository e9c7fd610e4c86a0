"""Chaos under load: faults applied to a real local cluster while Locust runs, and a checker
that proves from the records (CDRs, etcd history, the callers' own outcomes) that nothing was
lost, nothing was served twice, and queued calls kept their order."""
