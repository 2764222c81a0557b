"""Records of a team's discussion of a brief: who, when, their reflections and the
actions they agreed."""
