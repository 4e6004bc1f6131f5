"""Pure hotfix policy: config, facts, rules and their verdict. No I/O."""
