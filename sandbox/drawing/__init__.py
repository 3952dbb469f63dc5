"""Pictures of a network and of what it computes, on pygame surfaces: shared by the window and headless training (no session, no widgets)."""
