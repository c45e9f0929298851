/** Light or dark: the user's last choice, else the system's preference. */
export function initialTheme(): 'light' | 'dark' {
  try {
    const t = localStorage.getItem('hvsim-theme');
    if (t === 'light' || t === 'dark') return t;
  } catch {
    // no storage
  }
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
