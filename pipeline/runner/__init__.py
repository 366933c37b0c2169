"""The runner and its executors: the stage graph, the one runner that applies caching,
retries, cancellation and progress to it, the job manager (the coordinator) and the
executors that run stages (threads in this process, Celery workers elsewhere)."""
