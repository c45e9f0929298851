/** The static build (hvsim ui --build DIR): the App over the simulator running in the page. */
import './shims/process.js';
import { render } from 'preact';
import { App } from './app.js';
import { LocalBackend } from './local-backend.js';
import { initialTheme } from './theme.js';

render(<App backend={new LocalBackend('localhost')} initialTheme={initialTheme()} />, document.getElementById('app')!);
