/**
 * imspect's own plugin folder (`<dataDir>/plugins`) and the commands that change it. Its own entry
 * (`@imspect/core/plugin-folder`): the CLI's plugin commands load neither the proxy nor the TLS code.
 */
export { findNpm, runNpm, npmErrorSummary, type NpmCommand } from './npm.js';
export { PLUGIN_DIR_NAME, hostSdkDir, pluginDirOf, narrowModes } from './folder.js';
export {
  PluginFolderError,
  installPlugin,
  linkPlugin,
  listPluginFolder,
  removePlugin,
  unlinkPlugin,
  updatePlugins,
  type InstallResult,
  type LinkResult,
  type PluginFolderOptions,
  type PluginSummary,
  type RemoveResult,
  type UpdateResult,
} from './manage.js';
