import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { view } from './bridge';
import './styles.css';

// Follow Jira's theme (light, dark): the host sets html[data-color-mode] and the design tokens'
// values, and re-themes the frame when the person switches. Before (or without) it the CSS
// fallbacks draw the light theme.
view.theme.enable().catch(() => undefined);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
