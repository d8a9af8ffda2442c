"""The parts of the library facade, :class:`idms.workspace.Workspace`."""
