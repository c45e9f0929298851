/** The page served by hvsim ui: the App over the server's API. */
import { render } from 'preact';
import { App } from './app.js';
import { HttpBackend } from './api.js';
import { initialTheme } from './theme.js';

render(<App backend={new HttpBackend()} initialTheme={initialTheme()} />, document.getElementById('app')!);
