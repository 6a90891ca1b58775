"""Portfolio construction: allocators (equal, inverse vol, risk parity, MVO, HRP)."""
