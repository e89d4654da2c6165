/**
 * policy: the Policy Guard. Evaluates every artifact set before deployment, records the decision, and deploys
 * (writes to the object store under deployed/<set-id>/) only what is allowed or warned.
 *
 * Configuration without environment: the policy is the object `policy/policy.yaml` in the object store when it
 * exists (YAML or JSON, merged over the default policy), else the default policy. An invalid policy file denies
 * every set (fail closed) and says why. The guard also gets
 *   - history: what the recommendations' evidence says each SLO's history supports (recommendations.json in the set);
 *   - the inventory: the metric_inventory table, so rules over never-seen metrics are flagged.
 */
import {
  DEFAULT_POLICY,
  evaluatePolicy,
  historyFromRecommendations,
  parsePolicyText,
  type Policy,
} from '../core/policy/index.js';
import type { ArtifactSet, PolicyDecision } from '../events/schemas.js';
import { loadMetricInventory } from '../adapters/db/inventory.js';
import { audit, savePolicyDecision } from '../adapters/db/repo.js';
import { done, port, type EventStage } from '../runtime/stage.js';

export const DEPLOY_PREFIX = 'deployed/';
/** Object-store key of the policy file (platform/ may upload SLO_SCOUT_POLICY_FILE there). */
export const POLICY_KEY = 'policy/policy.yaml';

function recommendationsOf(set: ArtifactSet): unknown {
  const f = set.files.find((x) => x.path === 'recommendations.json');
  if (!f) return undefined;
  try {
    return JSON.parse(f.content) as unknown;
  } catch {
    return undefined; // the guard reports unparsable files itself
  }
}

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
    const now = ctx.now();
    const raw = await objects.get(POLICY_KEY);
    let pol: Policy = DEFAULT_POLICY;
    let decision: PolicyDecision;
    const parsed = raw ? parsePolicyText(new TextDecoder().decode(raw)) : undefined;
    if (parsed && !parsed.ok) {
      decision = {
        artifact_set_id: input.data.id,
        decision: 'deny',
        reasons: [
          {
            rule: 'policy-file',
            severity: 'deny',
            message: `${POLICY_KEY} is invalid, so nothing is deployed: ${parsed.error}`,
            path: POLICY_KEY,
          },
        ],
        evaluated_at: now.toISOString(),
        policy_version: 'invalid',
      };
    } else {
      if (parsed?.ok) pol = parsed.value;
      const metrics = await loadMetricInventory(db);
      decision = evaluatePolicy(input.data, pol, {
        now,
        history: historyFromRecommendations(recommendationsOf(input.data)),
        ...(metrics.length ? { inventory: { metrics } } : {}),
      });
    }
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
      detail: { reasons: decision.reasons.length, policy: decision.policy_version },
    });
    return done([{ topic: 'policyDecisions', key: decision.artifact_set_id, data: decision }]);
  },
};
