"""Learning into practice: what practitioners do with a brief once they have it.

Acknowledgements ("I've read this", with how it will change their practice), records of team
discussions with their agreed actions, and (to come) the board's impact report. It stands on
subscribers (who the person is) and service (briefs, mail); nothing below imports it.
"""
