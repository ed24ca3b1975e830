# demo.mk — `make demo`: the reference scenario of API.md on three real daemons linked as a chain
# 1-2-3 (Alice on 1, Bob on 2, Charlie on 3), driven by the CLI, then the conversation as each
# user sees it on their own daemon. The daemons run in a temporary directory and are stopped after.
.PHONY: demo
demo: $(O)/spacepandad $(O)/spacepanda
	@DEMO=1 SP_BUILD=$(O) bash test/integration/70_reference_scenario_cli.sh | \
	  sed -n -e '/^-- /p' -e '/^== /,$$p'
