"""Companies, contacts, leads, their addresses and notes, merges and duplicate checks, and the lists."""
