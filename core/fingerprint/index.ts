/** The fingerprinting stage's pure core: redaction, route normalisation, template mining, record fingerprints. */
export {
  BUILTIN_DETECTORS,
  createRedactor,
  isSensitiveKey,
  looksSecret,
  mergeCounts,
  type RedactionCounts,
  type RedactionResult,
  type Redactor,
  type RedactorConfig,
} from './redact.js';
export {
  RouteFolder,
  classifySegment,
  httpRoute,
  normaliseName,
  normalisePath,
  spanOperation,
  type HttpRoute,
  type RouteFolderOptions,
  type RouteFolderSnapshot,
} from './routes.js';
export {
  TemplateMiner,
  WILDCARD,
  maskWord,
  mergeClusterSnapshots,
  type AddResult,
  type ClusterSnapshot,
  type MinerOptions,
  type MinerSnapshot,
  type TemplateInfo,
} from './templates.js';
export {
  fingerprintLog,
  fingerprintRawLog,
  fingerprintSpan,
  severityNumberFromText,
  type LogDeps,
  type SpanDeps,
} from './fingerprint.js';
