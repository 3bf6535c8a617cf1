import { createTheme } from "@mantine/core";

export const theme = createTheme({
  primaryColor: "blue",
  defaultRadius: "md",
  fontFamily:
    "Inter, -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Cantarell, 'Noto Sans', 'DejaVu Sans', sans-serif",
  fontFamilyMonospace: "'JetBrains Mono', 'DejaVu Sans Mono', ui-monospace, monospace",
});
