"""The inbox queue (/inbox): conversations that need a reaction, their tabs, filters and
actions (done, archive, snooze, assign), the Unmatched view and the nav's unread badge."""
