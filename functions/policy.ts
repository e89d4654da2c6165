/**
 * policy: the Policy Guard. Evaluates every artifact set before deployment, records the decision, and deploys
 * (writes to the object store under deployed/<set-id>/) only what is allowed or warned.
 */
import { evaluatePolicy } from '../core/policy/index.js';
import { DEFAULT_POLICY } from '../core/policy/default-policy.js';
import type { ArtifactSet } from '../events/schemas.js';
import { audit, savePolicyDecision } from '../adapters/db/repo.js';
import { done, port, type EventStage } from '../runtime/stage.js';

export const DEPLOY_PREFIX = 'deployed/';

export const policy: EventStage<ArtifactSet> = {
  kind: 'event',
  name: 'policy',
  description: 'Policy Guard: allows, warns or denies an artifact set, records why, and deploys what passes.',
  trigger: { kind: 'topic', topics: ['artifacts'] },
  needs: ['db', 'objects'],
  scaling: { minScale: 0, maxScale: 2, concurrency: 1 },
  async handle(input, ctx) {
    const db = port(ctx, 'db');
    const objects = port(ctx, 'objects');
    const decision = evaluatePolicy(input.data, DEFAULT_POLICY, { now: ctx.now() });
    if (decision.decision !== 'deny') {
      for (const f of input.data.files) {
        await objects.put(`${DEPLOY_PREFIX}${input.data.id}/${f.path}`, new TextEncoder().encode(f.content), {
          contentType: f.media_type,
        });
      }
    }
    await savePolicyDecision(db, decision);
    await audit(db, {
      actor: 'stage:policy',
      action: `policy.${decision.decision}`,
      subject: input.data.id,
      detail: { reasons: decision.reasons.length },
    });
    return done([{ topic: 'policyDecisions', key: decision.artifact_set_id, data: decision }]);
  },
};
