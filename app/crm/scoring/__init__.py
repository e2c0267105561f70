"""Lead scores: the rule and the jobs that keep them current."""
