/**
 * Microsoft Advertising Campaign Management v13 REST, as closeloop uses it: paths, JSON shapes and the
 * error codes. Facts from ../shared/reference/msads-api.md (§3, §4, §8); anything marked [UNVERIFIED]
 * there is one constant here, so a correction is one line.
 */

export const productionApiBaseUrl = 'https://campaign.api.bingads.microsoft.com';
export const sandboxApiBaseUrl = 'https://campaign.api.sandbox.bingads.microsoft.com';
export const productionTokenUrl = 'https://login.microsoftonline.com/common/oauth2/v2.0/token';
export const productionAuthorizeUrl = 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize';
export const oauthScope = 'https://ads.microsoft.com/msads.manage offline_access';

/** REST paths under the Campaign Management host (the Java SDK's sendRequest paths). */
export const paths = {
  applyOfflineConversions: '/CampaignManagement/v13/OfflineConversions/Apply',
  applyOfflineConversionAdjustments: '/CampaignManagement/v13/OfflineConversionAdjustments/Apply',
  /** POST adds goals (AddConversionGoals); PUT changes them (UpdateConversionGoals). */
  addConversionGoals: '/CampaignManagement/v13/ConversionGoals',
  getConversionGoalsByIds: '/CampaignManagement/v13/ConversionGoals/QueryByIds',
  getAccountProperties: '/CampaignManagement/v13/AccountProperties/Query',
  setAccountProperties: '/CampaignManagement/v13/AccountProperties/Set',
  /**
   * GetOfflineConversionReports and GetOfflineConversionReportByGoalIds (msads-api.md §12). The REST paths
   * are [UNVERIFIED]: Microsoft's SDKs name the operations, the paths are those third-party REST clients use.
   */
  getOfflineConversionReports: '/CampaignManagement/v13/OfflineConversionReports/Query',
  getOfflineConversionReportByGoalIds: '/CampaignManagement/v13/OfflineConversionReport/QueryByGoalIds',
} as const;

/** Microsoft rejects more than 1,000 offline conversions per call with 5601. */
export const maxItemsPerCall = 1000;
/** The adjustment operation's limit is undocumented [UNVERIFIED]; the conversion limit is assumed. */
export const maxAdjustmentsPerCall = 1000;
/** AddConversionGoals takes at most 100 goals per call. */
export const maxGoalsPerCall = 100;
/** How the ConversionGoalTypes flags enum is written in REST JSON [UNVERIFIED]. */
export const offlineGoalTypes = 'OfflineConversion';

export interface WireOfflineConversion {
  MicrosoftClickId?: string;
  ConversionName: string;
  /** UTC, whole seconds: YYYY-MM-DDTHH:mm:ssZ. */
  ConversionTime: string;
  ConversionValue?: number;
  ConversionCurrencyCode?: string;
  HashedEmailAddress?: string;
  HashedPhoneNumber?: string;
}

export interface WireOfflineConversionAdjustment {
  AdjustmentType: 'Restate' | 'Retract';
  AdjustmentTime: string;
  AdjustmentValue?: number;
  AdjustmentCurrencyCode?: string;
  ConversionName: string;
  ConversionTime: string;
  MicrosoftClickId?: string;
  HashedEmailAddress?: string;
  HashedPhoneNumber?: string;
}

export interface WireBatchError {
  Code: number;
  ErrorCode: string;
  Message: string;
  Details?: string | null;
  FieldPath?: string | null;
  /** Zero-based index into the request array; several errors may share one index. */
  Index: number;
  Type?: string;
}

export interface WireApplyResponse {
  PartialErrors: WireBatchError[] | null;
}

export interface WireOperationError {
  Code: number;
  ErrorCode: string;
  Message: string;
  Details?: string | null;
}

/** The body of a whole-request fault (HTTP 4xx/5xx). */
export type WireFault =
  | {
      Type: 'ApiFaultDetail';
      TrackingId?: string;
      OperationErrors?: WireOperationError[];
      BatchErrors?: WireBatchError[];
    }
  | { Type: 'AdApiFaultDetail'; TrackingId?: string; Errors?: (WireOperationError & { Detail?: string })[] }
  | { Type: string; TrackingId?: string; Message?: string };

export interface WireConversionGoal {
  Type: 'OfflineConversion';
  Id?: string;
  Name: string;
  ConversionWindowInMinutes?: number;
  CountType?: 'All' | 'Unique';
  Revenue?: {
    Type: 'FixedValue' | 'VariableValue' | 'NoValue';
    Value?: number | null;
    CurrencyCode?: string | null;
  };
  Scope?: 'Account' | 'Customer';
  Status?: 'Active' | 'Paused';
  GoalCategory?: string;
}

export interface WireAddConversionGoalsResponse {
  ConversionGoalIds: (string | null)[];
  PartialErrors: WireBatchError[] | null;
}

export interface WireGetConversionGoalsResponse {
  ConversionGoals: (WireConversionGoal | null)[];
  PartialErrors: WireBatchError[] | null;
}

export interface WireAccountProperty {
  Name: string;
  Value: string;
}

export const autoTaggingProperty = 'MSCLKIDAutoTaggingEnabled';

/** Token endpoint answer (Microsoft identity platform). */
export interface WireTokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
  token_type?: string;
  scope?: string;
}

export interface WireTokenError {
  error: string;
  error_description?: string;
}

/** Header that carries Microsoft's TrackingId on REST responses [UNVERIFIED: also in fault bodies]. */
export const trackingIdHeader = 'TrackingId';

/** OfflineConversionUploadChannel: which way the conversions reached Microsoft (a flags enum). */
export type WireUploadChannel = 'Unknown' | 'CampaignManagementAPI' | 'BulkAPI' | 'WebUpload';

/** Why Microsoft accepted a conversion but could not attribute it (OfflineConversionUnattributedReason). */
export const unattributedReasons = [
  'Unknown',
  'AdjustmentOriginalNotFound',
  'ConversionAlreadyRetracted',
  'DuplicateConversionKey',
  'ConversionTimeExceedsMaxLookback',
  'ConversionTimeInFuture',
  'GoalNotFoundOrInactive',
  'ClickTimestampAfterConversion',
  'NoMatchingClickFound',
  'MissingMatchIdentifiers',
  'OutsideGoalLookbackWindow',
  'AccountMismatch',
  'MalformedData',
  'HistoricalClickDataExpired',
] as const;
export type WireUnattributedReason = (typeof unattributedReasons)[number];

/** Counts are strings in Microsoft's models where they are 64-bit (Alert.Count, Overall*Count). */
export interface WireOfflineConversionAlert {
  UnattributedReason: WireUnattributedReason;
  Count: string;
}

export interface WireOfflineGoalDailySummary {
  GoalId: string;
  /** The UTC day the conversions were uploaded, as a datetime at midnight. */
  UploadDate: string;
  SuccessCount: number;
  UnattributedCount: number;
  SuccessRate: number;
  Alerts: WireOfflineConversionAlert[] | null;
}

export interface WireOfflineGoalConversionSummary {
  GoalId: string;
  ConversionName: string;
  OverallSuccessCount: string;
  OverallUnattributedCount: string;
  OverallSuccessRate: number;
  OverallAlerts: WireOfflineConversionAlert[] | null;
  DailySummaries: WireOfflineGoalDailySummary[] | null;
}

export interface WireGetOfflineConversionReportByGoalIdsResponse {
  OfflineGoalConversionSummaries: WireOfflineGoalConversionSummary[] | null;
  PartialErrors: WireBatchError[] | null;
}

/** One day of GetOfflineConversionReports: the account's uploads, all goals together. */
export interface WireDailySummary {
  UploadDate: string;
  SuccessCount: number;
  FailureCount: number;
  /** A download of the day's per-row results (Microsoft's); the emulator gives none. */
  FileUrl: string | null;
  FileUrlExpiryTimeUtc: string | null;
}

export interface WireGetOfflineConversionReportsResponse {
  DailySummaries: WireDailySummary[] | null;
}
