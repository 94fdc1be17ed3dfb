// The one Powertools logger of every Lambda and of the local mode (structured JSON, level from
// POWERTOOLS_LOG_LEVEL), so nothing in lambdas/ prints to the console directly.
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'benchfleet' });
