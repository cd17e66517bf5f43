"""One module per timeline format; importing this package registers them all.

Each module defines its writer and reader, documents the adapter defects it works around, and
registers one :class:`~musync.export.registry.TimelineFormat`. ``MODULES`` is the list, in the
order the CLI shows them; adding a format is one module and one name here.
"""

from importlib import import_module

#: The format modules, in the order formats are listed.
MODULES = ("otio", "fcp7", "fcpxml", "edl")

for _name in MODULES:
    import_module(f"{__name__}.{_name}")
