"""Evaluation of the chat as a product: scripted dialogues, ReDial replay, simulated users.

* ``dialogue_spec`` / ``dialogue_checks`` / ``dialogue_runner``: YAML dialogues with expectations;
* ``redial_data`` / ``redial_mapping`` / ``redial_prior`` / ``redial_systems`` / ``redial_agent`` /
  ``redial_eval``: the ReDial protocol, movie mapping, learned mention prior and the compared systems;
* ``simulated_user`` / ``simulate``: held-out MovieLens users chasing a hidden target;
* ``components`` / ``suite``: loading the product's own parts; ``metrics``; ``report`` (JSON, markdown, PNG).

Every evaluator talks to the same ``bot.agent.Agent`` methods as the UI (see ``ui/cli/eval_cmds.py``).
"""
