"""One module per rule; the module name is the rule id with '-' replaced by '_'."""
