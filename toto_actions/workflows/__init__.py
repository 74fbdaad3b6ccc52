"""The rendered workflows: settings, environments and branch patterns, rendering."""
