// Handler factories by route-table name, for the local server (the CDK points each Lambda at its file).
import type { Deps } from '../core/ports';
import type { HttpHandler } from '../shared/http';
import type { HandlerName } from '../shared/routes';
import * as assembleRun from './assemble-run';
import * as claimTask from './claim-task';
import * as completeTask from './complete-task';
import * as failTask from './fail-task';
import * as getRun from './get-run';
import * as heartbeatTask from './heartbeat-task';
import * as listTasks from './list-tasks';
import * as startRun from './start-run';
import * as stopRun from './stop-run';
import * as uploadUrls from './upload-urls';

export const HTTP_HANDLERS: Record<HandlerName, (deps: Deps) => HttpHandler> = {
  'start-run': startRun.makeHandler,
  'get-run': getRun.makeHandler,
  'list-tasks': listTasks.makeHandler,
  'stop-run': stopRun.makeHandler,
  'assemble-run': assembleRun.makeHandler,
  'claim-task': claimTask.makeHandler,
  'heartbeat-task': heartbeatTask.makeHandler,
  'complete-task': completeTask.makeHandler,
  'fail-task': failTask.makeHandler,
  'upload-urls': uploadUrls.makeHandler,
};
