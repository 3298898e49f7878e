"""Qt state objects and controllers (signals), between the widgets and the lower layers."""
