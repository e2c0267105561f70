"""The pipeline board, stage moves and the maintained stage totals."""
