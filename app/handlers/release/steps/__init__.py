"""The post-merge steps, in the order the report lists them (see README.md). Each runs as soon
as the steps it `needs` have ended; steps that need nothing of each other run at once.

Each step looks before it acts, so running it again finds its own earlier work and calls it
done. A step returns its outcome; a GitHub answer it does not expect propagates, and the
caller retries what may pass and records the rest as the step's failure.

Adding a step: a module defining its `STEP` (see `app.handlers.release.step`), and one line
here, after the steps it needs (in `PUSH_STEPS` too when a push to the trunk needs it). A step
whose `applies` refuses a merge (a rollback's own steps on a hotfix) neither runs nor is
reported for it. A step whose look only it changes declares it in `looks` and reads it with
`StepRun.look`: it is then read as the run starts, and costs the step no round trip.
"""

from app.handlers.release.step import Step
from app.handlers.release.steps import (
    back_merge,
    delete_branch,
    incident_report,
    old_release,
    release,
    resolution_notice,
    retro_review,
    rollback_in_report,
    rollback_notice,
    tag,
    verbal_approvals,
)

STEPS: list[Step] = [
    tag.STEP,
    release.STEP,
    old_release.STEP,
    back_merge.STEP,
    delete_branch.STEP,
    rollback_notice.STEP,
    rollback_in_report.STEP,
    verbal_approvals.STEP,
    retro_review.STEP,
    incident_report.STEP,
    resolution_notice.STEP,
]

# The steps whose outcome the incident timeline records (docs/BEHAVIOUR.md, 'The record and
# the notices').
IN_TIMELINE: tuple[Step, ...] = (tag.STEP, release.STEP, back_merge.STEP)

# A hotfix pushed to the trunk (`workflow: trunk`) has no branch to merge back or delete: it
# gets the steps that act on its commit alone.
PUSH_STEPS: list[Step] = [tag.STEP, release.STEP]
