/** The SLI knowledge base: the curated pattern catalogue and pure retrieval scoring. */
export type * from './types.js';
export { CATALOGUE_VERSION, SLI_CATALOGUE, findPattern, patternText, renderPromql } from './catalogue.js';
export {
  dot,
  journeyQueryText,
  rankPatterns,
  scorePattern,
  type JourneyDescriptor,
  type MetricEvidence,
  type PatternMatch,
  type RetrievalQuery,
} from './retrieve.js';
