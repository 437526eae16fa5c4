"""shuyaku (集約): from a municipality inventory to a consolidated OpenStack platform."""
