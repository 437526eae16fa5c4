"""The vocabulary and the typed models every stage boundary uses, and the one adapter that reads them.

The bottom floor of the flow: nothing here imports another shuyaku package.
"""
