/**
 * The CDK app: synth (esbuild bundle, no Docker) with cdk-nag's AwsSolutions pack as a policy-validation plugin
 * (synth throws on any unacknowledged finding), and assertions that it agrees with the function registry.
 * cfn-lint on the synthesized template runs in test/integration/deploy.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentRegistry } from '../../deploy/registry.js';
import { buildApp } from '../../infra/app.js';
import { bundleLambda } from '../../infra/bundle.js';

const reg = deploymentRegistry();
let dir: string;
let t: Template;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slo-scout-cdk-'));
  const { app, stack } = buildApp(
    new App({ outdir: join(dir, 'cdk.out') }),
    bundleLambda(join(dir, 'bundle')),
  );
  app.synth(); // fails on cdk-nag findings
  t = Template.fromStack(stack);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CDK app', () => {
  it('deploys every registry function as a Node 22 arm64 Lambda in the VPC, handler handlers.<name>', () => {
    for (const f of reg.functions)
      t.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: f.resourceName,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: `index.${f.lambdaHandler}`,
        ReservedConcurrentExecutions: f.scaling.maxScale,
        VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
        TracingConfig: { Mode: 'Active' },
      });
  });
  it('maps every trigger topic with partial batch failure and an SQS on-failure destination', () => {
    const maps = t.findResources('AWS::Lambda::EventSourceMapping');
    const topics = Object.values(maps).flatMap((m) => (m['Properties'] as { Topics: string[] }).Topics);
    expect(topics.sort()).toEqual(reg.functions.flatMap((f) => (f.objectPrefix ? [] : f.topics)).sort());
    for (const m of Object.values(maps)) {
      const p = m['Properties'] as Record<string, unknown>;
      expect(p['FunctionResponseTypes']).toEqual(['ReportBatchItemFailures']);
      expect(p['DestinationConfig']).toMatchObject({ OnFailure: { Destination: expect.anything() } });
      expect(p['SelfManagedEventSource']).toBeDefined();
    }
  });
  it('notifies the import function of objects created under imports/', () => {
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          Match.objectLike({
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'imports/' }] } },
          }),
        ],
      },
    });
  });
  it('fronts the api with an IAM-authenticated function URL', () => {
    t.resourceCountIs('AWS::Lambda::Url', 1);
    t.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
  });
  it('has an archive bucket with lifecycle rules, Secrets Manager credentials and alarms', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'raw/', ExpirationInDays: 365 })]),
      },
    });
    t.resourceCountIs('AWS::SecretsManager::Secret', 2);
    const alarms = Object.keys(t.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(reg.functions.length * 2 + 1);
    const db = t.findResources('AWS::Lambda::Function', {
      Properties: { FunctionName: 'slo-scout-analyze' },
    });
    expect(JSON.stringify(db)).toContain('resolve:secretsmanager');
  });
});
