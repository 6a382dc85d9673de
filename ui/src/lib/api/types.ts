// Short names for the generated API shapes.
import type { components } from './schema';

type Schemas = components['schemas'];
export type Asset = Schemas['AssetSchema'];
export type AssetDetail = Schemas['AssetDetailSchema'];
export type Face = Schemas['FaceSchema'];
export type Person = Schemas['PersonSchema'];
export type PersonDetail = Schemas['PersonDetailSchema'];
export type Cluster = Schemas['ClusterSchema'];
export type Suggestion = Schemas['SuggestionSchema'];
export type SuggestionGroup = Schemas['SuggestionGroupSchema'];
export type GroupedSuggestions = Schemas['GroupedSuggestionsResponse'];
export type SuggestionSettings = Schemas['SuggestionSettingsSchema'];
export type BulkActionResponse = Schemas['BulkActionResponse'];
export type FindMoreJob = Schemas['FindMoreJobSchema'];
export type ItemResult = Schemas['ItemResultSchema'];
export type Job = Schemas['JobSchema'];
export type LibraryStatus = Schemas['LibraryStatusSchema'];
export type Folder = Schemas['FolderSchema'];
export type SearchResponse = Schemas['SearchResponse'];
export type SearchHit = Schemas['SearchHitSchema'];
export type Camera = Schemas['CameraSchema'];
export type RecoveryOverview = Schemas['RecoveryOverviewSchema'];
export type CauseGroup = Schemas['CauseGroupSchema'];
export type RecoveryAsset = Schemas['RecoveryAssetSchema'];
export type RecoveryAction = Schemas['RecoveryActionResponse'];
export type FaceSnippet = Schemas['FaceSnippetSchema'];
export type VideoPlayback = Schemas['VideoPlaybackSchema'];
