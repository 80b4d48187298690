export { addReasons, analyzeCollections, analyzeObjects, compareFindings, findingContentHash, findingId, levelOf, type AnalyzeOptions } from './analyze.js';
export {
  ALLOWLIST_DOCUMENT_VERSION,
  AllowlistDocumentSchema,
  AllowlistEntrySchema,
  judgeAgainstAllowlist,
  lookAlike,
  type AllowlistEntry,
  type VerifiedEntry,
} from './allowlist.js';
export { RISK_RULES, evaluateRules, type RiskRule, type RuleContext } from './risk-rules.js';
export { decodeUtf16Base64, inspectPayload } from './payload.js';
export { triggersOf, normalizeQuery } from './triggers.js';
export { joinObjects, type Candidate } from './join.js';
