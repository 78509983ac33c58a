import { mount } from 'svelte';
import App from './App.svelte';
import { languageFor, setLang } from './lib/i18n';
import { api } from './lib/ipc';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
// The language is known before the first frame (one local round trip), so a French window
// never shows English first; App follows later changes and reports a failed read.
try {
  const [settings, info] = await Promise.all([api.settings(), api.appInfo()]);
  setLang(languageFor(settings.language, info.system_language));
} catch {
  // Drawn in English; App says what could not be read.
}
export default mount(App, { target });
