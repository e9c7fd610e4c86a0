"""QA scorecards (issue 19, point 3): the pure core. Forms (:mod:`.forms`), the score of an
evaluation and the spread of a calibration (:mod:`.scoring`), the weekly sample (:mod:`.sampling`).
"""
