"""The live audit (`shuyaku audit --live`): the real cloud read through openstacksdk, independent of Pulumi state,
checked against what the platform should be (the stack config and the site data it names).

`expect` says what should be there, `snapshot` reads what is there in one pass, each module of `checks` holds one
check or a small group, `render` prints findings as text, JSON or SARIF, and `run` ties them together.
"""
