"""make loadtest (issue 16): the production shape on one machine under load. The command that
runs it is bench/management/commands/bench_loadtest.py; here are its parts: prepare (the data
and the load generator's configuration), processes (what it starts and stops, CPU time),
locustfile (the load generator, run by locust in a process of its own), checks (after the
load), report (the tables it prints)."""
